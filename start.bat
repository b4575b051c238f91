@echo off
rem Start refinery on Windows with Docker Desktop: start.bat   (then open http://localhost:4455)
rem The admin password of the first start is in the gateway log: docker compose logs gateway
setlocal
cd /d "%~dp0"
docker compose version >nul 2>&1
if %errorlevel%==0 (
    docker compose -f docker-compose.yml up -d --build %*
) else (
    docker-compose -f docker-compose.yml up -d --build %*
)
if errorlevel 1 (
    echo refinery did not start: is Docker Desktop running?
    exit /b 1
)
echo refinery is starting: http://localhost:4455
endlocal
