#!/usr/bin/env bash
# Rolls an overlay out in the one order that is safe, which plain kustomize cannot express (no
# hooks): migrations complete before any pod of the new release starts.
#
#   deploy/k8s/deploy.sh deploy/k8s/overlays/production
#
#   1. everything but the Deployments and the migration Job: namespace, ConfigMap, the
#      ExternalSecret (and wait until its Secret is synced), policies, Service, Ingresses, ...
#   2. the migration Job: the previous release's Job is deleted first (a Job's pod template
#      cannot change), this release's is applied and waited for. A failed or timed-out Job
#      stops here, with its log: the previous release keeps serving.
#   3. everything (the Deployments now), then wait for both rollouts.
#
# Needs kubectl (1.30+, with kustomize built in) and a context with rights on the namespace and
# on ClusterIssuers. The names below are the base's; tests/ship/kubernetes.test.ts checks they
# exist in the rendered production overlay.
set -euo pipefail

overlay=${1:?usage: deploy/k8s/deploy.sh <overlay directory>}
NAMESPACE=simplebank
EXTERNAL_SECRET=simplebank
MIGRATION_JOB=simplebank-migrate
DEPLOYMENTS=(simplebank-api simplebank-worker)
# The label that tells the steps apart (every object of base/ that is one of these carries it).
COMPONENT=app.kubernetes.io/component

rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$overlay" >"$rendered"

echo "==> 1/3 configuration, secret, policies, routing"
kubectl apply -f "$rendered" -l "${COMPONENT} notin (api,worker,migrate)"
kubectl -n "$NAMESPACE" wait --for=condition=Ready "externalsecret/${EXTERNAL_SECRET}" --timeout=120s

echo "==> 2/3 migrations"
kubectl -n "$NAMESPACE" delete job "$MIGRATION_JOB" --ignore-not-found --wait=true
kubectl apply -f "$rendered" -l "${COMPONENT}=migrate"
# Complete or Failed, whichever comes first (the Job's activeDeadlineSeconds bounds it).
status=""
for _ in $(seq 1 130); do
  status=$(kubectl -n "$NAMESPACE" get job "$MIGRATION_JOB" \
    -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
  case " $status " in
    *" Complete "*) break ;;
    *" Failed "*) break ;;
  esac
  sleep 5
done
kubectl -n "$NAMESPACE" logs "job/${MIGRATION_JOB}" --tail=100 || true
case " $status " in
  *" Complete "*) echo "migrations applied" ;;
  *)
    echo "deploy: the migration Job did not complete (conditions: ${status:-none}); nothing rolled out" >&2
    exit 1
    ;;
esac

echo "==> 3/3 the API and the worker"
kubectl apply -f "$rendered"
for deployment in "${DEPLOYMENTS[@]}"; do
  kubectl -n "$NAMESPACE" rollout status "deployment/${deployment}" --timeout=300s
done
