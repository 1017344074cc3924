#!/bin/sh
# Install or upgrade tipline on a Debian/Ubuntu VM from this checkout (run as root):
# a `tipline` user, the pinned release in /opt/tipline/venv, state in /var/lib/tipline, the systemd
# units, Redis with persistence, and /etc/tipline/tipline.env (created once, never overwritten).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
apt-get install -y --no-install-recommends python3 python3-venv redis-server nginx
id tipline >/dev/null 2>&1 || useradd --system --home /var/lib/tipline --shell /usr/sbin/nologin tipline
install -d -o tipline -g tipline -m 700 /var/lib/tipline
install -d -m 755 /opt/tipline /etc/tipline
python3 -m venv /opt/tipline/venv
/opt/tipline/venv/bin/pip install --quiet --upgrade pip
/opt/tipline/venv/bin/pip install --quiet -c "$root/constraints.txt" "$root"
[ -f /etc/tipline/tipline.env ] || install -m 600 "$root/deploy/vm/tipline.env" /etc/tipline/tipline.env
install -m 644 "$root/deploy/redis/tipline-redis.conf" /etc/redis/tipline.conf
grep -q '^include /etc/redis/tipline.conf' /etc/redis/redis.conf ||
    echo 'include /etc/redis/tipline.conf' >> /etc/redis/redis.conf
install -m 644 "$root/deploy/systemd/tipline-web.service" "$root/deploy/systemd/tipline-worker@.service" \
    "$root/deploy/systemd/tipline-scheduler.service" /etc/systemd/system/
systemctl daemon-reload
systemctl restart redis-server
echo "installed $(cd "$root" && git describe --tags --always 2>/dev/null || echo tipline);" \
     "now fill in /etc/tipline/tipline.env and run deploy/vm/start.sh"
