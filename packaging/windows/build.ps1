# Build Hearth for Windows: dist\hearth\ (the app) and dist\Hearth-<version>-setup.exe (an installer).
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 [--no-model]
#
# Needs: Python 3.10+ (python.org, "py" launcher), Visual Studio 2022 Build Tools with the C++
# workload (for llama.cpp), CMake, and Inno Setup 6 (iscc). $env:HEARTH_BACKEND picks the llama.cpp
# build: cpu-portable (default), cuda (CUDA toolkit) or vulkan (Vulkan SDK).
$ErrorActionPreference = "Stop"
$Repo = (Resolve-Path "$PSScriptRoot\..\..").Path
$Backend = if ($env:HEARTH_BACKEND) { $env:HEARTH_BACKEND } else { "cpu-portable" }
$Started = Get-Date

py -3 "$Repo\packaging\build_bundle.py" --backend $Backend --dist "$Repo\dist" @args
if ($LASTEXITCODE -ne 0) { throw "building the bundle failed" }

$Version = (Select-String -Path "$Repo\app\__init__.py" -Pattern '__version__ = "(.*)"').Matches[0].Groups[1].Value
$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 (iscc.exe) is not installed: https://jrsoftware.org/isinfo.php" }
& $Iscc "/DAppVersion=$Version" "/DRepo=$Repo" "$PSScriptRoot\hearth.iss"
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }

$Setup = Get-Item "$Repo\dist\Hearth-$Version-setup.exe"
$Elapsed = [int]((Get-Date) - $Started).TotalSeconds
Write-Host ("windows\build.ps1: {0} ({1:N0} MB) in {2} s" -f $Setup.FullName, ($Setup.Length / 1MB), $Elapsed)
