FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN useradd --create-home portal && chown -R portal /app
USER portal
EXPOSE 8000
# Websocket messages capped at 64 KiB, as in docker-compose.yml. Proxy headers off: daphne would
# believe the left-most X-Forwarded-For value from any peer; Django uses TRUSTED_PROXIES instead.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536", "portal.asgi:application"]
