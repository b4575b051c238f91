@echo off
rem Stop refinery on Windows: stop.bat   (the data volumes are kept; "docker compose down -v" deletes them)
setlocal
cd /d "%~dp0"
docker compose version >nul 2>&1
if %errorlevel%==0 (
    docker compose -f docker-compose.yml down %*
) else (
    docker-compose -f docker-compose.yml down %*
)
endlocal
