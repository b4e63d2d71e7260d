#!/usr/bin/env bash
# A trial of deploy/k8s on a local cluster (kind), with PostgreSQL in the cluster and a grpcurl
# pod. Needs docker, kind, kubectl and the image (deploy/README.md, "Trial on kind"):
#   docker build -f deploy/Dockerfile -t liaison:dev .
#   kind create cluster --name liaison && kind load docker-image liaison:dev --name liaison
#   bash deploy/k8s/trial/setup.sh
# Makes a development PKI with the image's own `liaison dev-pki` and random database passwords
# (deploy/compose/init/db-secrets.sh) in $LIAISON_TRIAL_DIR (default ~/.liaison-trial, kept so a
# re-run reuses them), stores them as the Secrets the manifests mount, then applies PostgreSQL,
# the grpcurl pod and the base. Safe to re-run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

image="${LIAISON_IMAGE:-liaison:dev}"
dir="${LIAISON_TRIAL_DIR:-$HOME/.liaison-trial}"
services=(contacts scheduling mediation reporting)
ns=liaison

mkdir -p "$dir/pki" "$dir/db"
chmod 0700 "$dir"

# The issuer must match LIAISON_AUTH_ISSUER in deploy/k8s/configmap.yaml.
liaison() {
    docker run --rm --network none --user "$(id -u):$(id -g)" -v "$dir/pki:/pki" "$image" "$@"
}
liaison dev-pki --out /pki --hosts "$(IFS=,; echo "${services[*]}")" --issuer liaison --audience liaison
LIAISON_SECRETS_DIR="$dir/db" LIAISON_DB_HOST=postgres:5432 sh deploy/compose/init/db-secrets.sh
liaison token --key /pki/signing-key.pem --role admin --subject trial-admin --issuer liaison > "$dir/pki/admin.token"

# `kubectl apply` of a generated object: creates it or updates it in place.
apply_secret() {
    kubectl -n "$ns" create "$@" --dry-run=client -o yaml | kubectl apply -f -
}

kubectl apply -f deploy/k8s/namespace.yaml
for s in "${services[@]}"; do
    apply_secret secret generic "liaison-$s-tls" --type=kubernetes.io/tls \
        --from-file=tls.crt="$dir/pki/$s.pem" --from-file=tls.key="$dir/pki/$s-key.pem" \
        --from-file=ca.crt="$dir/pki/ca.pem"
    apply_secret secret generic "liaison-$s-token" --from-file=token="$dir/pki/$s.token"
done
apply_secret secret generic liaison-jwks --from-file=jwks.json="$dir/pki/jwks.json"
database_urls=()
postgres_passwords=(--from-file=postgres-password="$dir/db/postgres/postgres-password")
for s in "${services[@]}"; do
    database_urls+=(--from-file="$s-database-url=$dir/db/$s/database-url")
    postgres_passwords+=(--from-file="$s-db-password=$dir/db/postgres/$s-db-password")
done
apply_secret secret generic liaison-database "${database_urls[@]}"
apply_secret secret generic liaison-postgres "${postgres_passwords[@]}"
apply_secret configmap liaison-postgres-init --from-file=deploy/compose/postgres-init/01-databases.sh
apply_secret secret generic liaison-grpcurl \
    --from-file=ca.crt="$dir/pki/ca.pem" --from-file=token="$dir/pki/admin.token"

kubectl apply -f deploy/k8s/trial/
kubectl -n "$ns" rollout status deployment/postgres --timeout=180s
kubectl apply -k deploy/k8s
for s in "${services[@]}"; do
    kubectl -n "$ns" rollout status "deployment/$s" --timeout=300s
done
kubectl -n "$ns" wait --for=condition=Ready pod/grpcurl --timeout=120s
cat <<EOF

Liaison runs in namespace $ns. Try:
  kubectl -n $ns exec grpcurl -- sh -c \\
    'grpcurl -cacert /etc/liaison/ca.crt -H "authorization: Bearer \$(cat /etc/liaison/token)" contacts:50051 list'
EOF
