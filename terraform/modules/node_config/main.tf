# Every SSM parameter a node reads (cluster/bin/node-bootstrap, cluster/bin/ray-node), created
# here so that nothing a node needs is a hand-written step:
#   <ssm_prefix>/config/<KEY>      one line KEY=value of /etc/file-processor/env each
#   <ssm_prefix>/ray-head-address  written by the head at boot; created empty-valued here
#   <ssm_prefix>/ray-auth-token    the Ray token (SecureString); created with a placeholder that
#                                  the bootstrap refuses, set once by the operator, so that the
#                                  secret is never in the Terraform state
# OCR_TESSDATA is the image's fact: read from ami/scripts/versions.env (TESSDATA_DIR), the
# one place the path is written.

locals {
  tessdata_dir = regex("(?m)^TESSDATA_DIR=(\\S+)$", file(local.versions_env))[0]
  versions_env = coalesce(var.versions_env_path, "${path.module}/../../../ami/scripts/versions.env")
  parameters   = merge({ OCR_TESSDATA = local.tessdata_dir }, var.parameters)
}

resource "aws_ssm_parameter" "config" {
  #checkov:skip=CKV2_AWS_34:Node settings (queue URLs, index, names) are not secrets; the one secret, the Ray token, is a SecureString below.
  for_each    = local.parameters
  name        = "${var.ssm_prefix}/config/${each.key}"
  description = "Node setting ${each.key}, written to /etc/file-processor/env by node-bootstrap."
  type        = "String"
  value       = each.value
  tags        = var.tags
}

resource "aws_ssm_parameter" "head_address" {
  #checkov:skip=CKV2_AWS_34:An ip:port inside the VPC, written by the head itself; not a secret.
  name        = "${var.ssm_prefix}/ray-head-address"
  description = "ip:port of the Ray head; the head writes it at boot, workers read it at every Ray start."
  type        = "String"
  value       = var.unset_value
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "ray_auth_token" {
  name        = "${var.ssm_prefix}/ray-auth-token"
  description = "Ray token authentication; set with aws ssm put-parameter --overwrite (never in Terraform state)."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = var.unset_value
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}
