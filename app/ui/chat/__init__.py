"""The chat page: controller, conversation view, composer, sidebar, model picker, engine bridge."""
