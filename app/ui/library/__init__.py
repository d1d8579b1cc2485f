"""The Library page and the welcome screen: controller, table model, page."""
