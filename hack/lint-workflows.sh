#!/usr/bin/env bash
# make verify's workflow lint: actionlint (pinned in hack/tools/go.mod) over .github/workflows,
# then over a copy broken on purpose, which must fail: a lint that read nothing, or a pin that
# lost its checks, fails here rather than passing every workflow. shellcheck and pyflakes are
# off (-shellcheck= -pyflakes=): they are not pinned, so their findings would differ between
# machines that have them and machines that do not.
set -euo pipefail
cd "$(dirname "$0")/.."
lint() { (cd hack/tools && go tool actionlint -no-color -shellcheck= -pyflakes= "$@"); }

shopt -s nullglob
files=("$PWD"/.github/workflows/*.yml "$PWD"/.github/workflows/*.yaml)
[ ${#files[@]} -gt 0 ] || { echo "lint-workflows: no workflow in .github/workflows"; exit 1; }
lint "${files[@]}"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# A job that needs a job the workflow does not have.
sed 's/^    needs: e2e$/    needs: no-such-job/' .github/workflows/contract.yml >"$work/broken.yml"
grep -q 'needs: no-such-job' "$work/broken.yml" || { echo "lint-workflows: could not break a copy of contract.yml (its report job no longer needs e2e?)"; exit 1; }
if lint "$work/broken.yml" >"$work/out" 2>&1; then
  echo "lint-workflows: actionlint passed a workflow whose job needs a job that does not exist"; exit 1
fi
grep -q 'no-such-job' "$work/out" || { echo "lint-workflows: actionlint failed the broken copy, but not for its broken 'needs':"; cat "$work/out"; exit 1; }
echo "lint-workflows: ${#files[@]} workflow(s) pass actionlint; a broken copy fails it, as it must"
