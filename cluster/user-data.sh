#!/usr/bin/env bash
# EC2 user data of every node (head and workers alike). It carries no secret and no setting:
# the node reads its Role and Environment from its instance tags (IMDSv2, instance tags in
# metadata enabled in the launch template) and everything else from SSM in node-bootstrap.
set -o errexit -o nounset -o pipefail
exec >>/var/log/user-data.log 2>&1
echo "user-data: $(date -u +%FT%TZ) start"
/opt/file-processor/bin/node-bootstrap
echo "user-data: $(date -u +%FT%TZ) done"
