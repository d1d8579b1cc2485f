; Inno Setup script for Hearth: installs dist\hearth\ (the PyInstaller bundle) per user or for all
; users, with a Start menu entry, an optional desktop icon and an optional .gguf association.
; Built by packaging\windows\build.ps1, which passes AppVersion and Repo.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef Repo
  #define Repo "..\.."
#endif

[Setup]
AppId={{7B1E3F0A-5C2D-4E8B-9A61-2F4C8D0E6B13}
AppName=Hearth
AppVersion={#AppVersion}
AppPublisher=Hearth developers
DefaultDirName={autopf}\Hearth
DefaultGroupName=Hearth
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Repo}\dist
OutputBaseFilename=Hearth-{#AppVersion}-setup
SetupIconFile={#Repo}\resources\icons\hearth.ico
UninstallDisplayIcon={app}\hearth.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked
Name: "gguf"; Description: "Open .gguf model files with Hearth"; Flags: unchecked

[Files]
Source: "{#Repo}\dist\hearth\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{autoprograms}\Hearth"; Filename: "{app}\hearth.exe"
Name: "{autodesktop}\Hearth"; Filename: "{app}\hearth.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\.gguf\OpenWithProgids"; ValueType: string; ValueName: "Hearth.gguf"; ValueData: ""; Flags: uninsdeletevalue; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\Hearth.gguf"; ValueType: string; ValueName: ""; ValueData: "GGUF language model"; Flags: uninsdeletekey; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\Hearth.gguf\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\hearth.exe,0"; Tasks: gguf
Root: HKA; Subkey: "Software\Classes\Hearth.gguf\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\hearth.exe"" ""%1"""; Tasks: gguf

[Run]
Filename: "{app}\hearth.exe"; Description: "Start Hearth"; Flags: nowait postinstall skipifsilent
