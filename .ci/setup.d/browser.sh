#!/usr/bin/env bash
# Browser tests (careers/browser_test.go, surveypage/browser_test.go, with
# the helpers of package browsertest) drive Debian's Chromium through
# chromedp and inject axe-core from npm into each page. The file
# store's S3 test (files/s3_test.go) runs against s3rver, also from npm.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version

echo "installing axe-core (npm)"
(cd browsertest/axe && npm ci --no-audit --no-fund --loglevel=error)
test -f browsertest/axe/node_modules/axe-core/axe.min.js

echo "installing s3rver (npm)"
(cd files/testdata/s3 && npm ci --no-audit --no-fund --loglevel=error)
test -f files/testdata/s3/node_modules/s3rver/bin/s3rver.js
