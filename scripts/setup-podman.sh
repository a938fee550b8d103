#!/usr/bin/env bash
# Makes Podman usable for beemesh on this machine: checks runc and the project's
# containers.conf, and builds the offline image localhost/busybox:latest when missing
# (no registry is reachable, so images are made from Debian's busybox-static).
set -euo pipefail
source "$(dirname "$0")/env.sh"

command -v podman >/dev/null || { echo "setup-podman: podman is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
command -v runc >/dev/null || { echo "setup-podman: runc is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "setup-podman: /bin/busybox missing (package busybox-static)" >&2; exit 1; }

if podman image exists localhost/busybox:latest; then
  echo "setup-podman: localhost/busybox:latest present"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/www,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list-full); do
  [ "$applet" = "bin/busybox" ] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -sf /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sh"]' - localhost/busybox:latest >/dev/null
echo "setup-podman: built localhost/busybox:latest"
