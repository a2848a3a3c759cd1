# The operator role: what `ocr-cluster ami deploy|prune`, `status`, `smoke` and a DLQ redrive
# need, and what the workers must never have.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  asg_arn      = "arn:${local.partition}:autoscaling:${local.region}:${local.account}:autoScalingGroup:*:autoScalingGroupName/${var.asg_name}"
  images_arn   = "arn:${local.partition}:ec2:${local.region}::image/*"
  snapshot_arn = "arn:${local.partition}:ec2:${local.region}:${local.account}:snapshot/*"
  # A backfill's driver (`ocr-cluster backfill --address`, `ray job submit`) needs the cluster's Ray token.
  ssm_arn = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${var.ssm_prefix}"
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "OperatorsAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.trusted_principal_arns
    }
  }
}

# The policy is a JSON template, rendered here and read by the tests (tests/ops/test_iam.py),
# which run every operator command under it on moto with IAM enforcement on.
locals {
  policy_vars = {
    partition             = local.partition
    queue_arn             = var.queue_arn
    dlq_arn               = var.dlq_arn
    launch_template_arn   = var.launch_template_arn
    asg_arn               = local.asg_arn
    worker_role_arn       = var.worker_role_arn
    images_arn            = local.images_arn
    snapshot_arn          = local.snapshot_arn
    application           = var.application
    alarms_arn            = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:file-processor-${var.environment}-*"
    smoke_bucket          = var.smoke_bucket
    smoke_prefix          = var.smoke_prefix
    source_bucket         = var.source_bucket
    source_prefix         = var.source_prefix
    opensearch_domain_arn = var.opensearch_domain_arn
    opensearch_index      = var.opensearch_index
    ssm_arn               = local.ssm_arn
  }
  operator_policy = templatefile("${path.module}/policies/operator.json.tftpl", local.policy_vars)
}

resource "aws_iam_role" "operator" {
  name                 = "file-processor-${var.environment}-operator"
  description          = "Deploy and prune worker images, redrive the DLQ, run status and smoke"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = var.max_session_duration_s
  tags                 = var.tags
}

resource "aws_iam_role_policy" "operator" {
  name   = "operations"
  role   = aws_iam_role.operator.id
  policy = local.operator_policy
}

# The same keys as the nodes' (module iam's template): the DLQ received and redriven, the
# documents read by a backfill's driver, smoke objects written, under SSE-KMS.
resource "aws_iam_role_policy" "kms_data" {
  count  = length(var.kms_key_arns) == 0 ? 0 : 1
  name   = "kms-data"
  role   = aws_iam_role.operator.id
  policy = templatefile("${path.module}/../iam/policies/kms-data.json.tftpl", { kms_key_arns = var.kms_key_arns, region = local.region })
}
