# Least-privilege roles of the nodes. Workers and the head share the data-plane policy; only
# workers may answer the termination lifecycle hook. Operator rights (redrive, deploy) are in
# modules/operator, never here.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  bucket_arn  = "arn:${local.partition}:s3:::${var.source_bucket}"
  objects_arn = "${local.bucket_arn}/${var.source_prefix}*"
  asg_arn     = "arn:${local.partition}:autoscaling:${local.region}:${local.account}:autoScalingGroup:*:autoScalingGroupName/${var.asg_name}"
  ssm_arn     = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${var.ssm_prefix}"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    sid     = "Ec2AssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# Each policy is a JSON template, rendered here and read by the tests (tests/ops/test_iam.py),
# which run every node command under it on moto with IAM enforcement on.
locals {
  policy_vars = {
    queue_arn             = var.queue_arn
    dlq_arn               = var.dlq_arn
    bucket_arn            = local.bucket_arn
    objects_arn           = local.objects_arn
    source_prefix         = var.source_prefix
    opensearch_domain_arn = var.opensearch_domain_arn
    opensearch_index      = var.opensearch_index
    metrics_namespace     = var.metrics_namespace
    agent_namespace       = var.agent_namespace
    log_group_arn         = var.log_group_arn
    ssm_arn               = local.ssm_arn
    asg_arn               = local.asg_arn
  }
  data_plane_policy   = templatefile("${path.module}/policies/data-plane.json.tftpl", local.policy_vars)
  lifecycle_policy    = templatefile("${path.module}/policies/lifecycle.json.tftpl", local.policy_vars)
  head_address_policy = templatefile("${path.module}/policies/head-address.json.tftpl", local.policy_vars)
}

# SecureString parameters under a customer-managed key: the nodes may decrypt through SSM only.
resource "aws_iam_policy" "decrypt_parameters" {
  count       = var.ssm_kms_key_arn == null ? 0 : 1
  name        = "file-processor-${var.environment}-decrypt-parameters"
  description = "Nodes: decrypt the environment's SecureString parameters through SSM."
  policy      = templatefile("${path.module}/policies/kms-decrypt.json.tftpl", { ssm_kms_key_arn = var.ssm_kms_key_arn, region = local.region })
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "worker_decrypt" {
  count      = var.ssm_kms_key_arn == null ? 0 : 1
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.decrypt_parameters[0].arn
}

resource "aws_iam_role_policy_attachment" "head_decrypt" {
  count      = var.ssm_kms_key_arn == null ? 0 : 1
  role       = aws_iam_role.head.name
  policy_arn = aws_iam_policy.decrypt_parameters[0].arn
}

# SSE-KMS queues (module queue's kms_master_key_id) and an SSE-KMS source bucket: receiving and
# reading decrypt, sending (dead-lettering) generates a data key; through SQS and S3 only.
resource "aws_iam_policy" "kms_data" {
  count       = length(var.kms_key_arns) == 0 ? 0 : 1
  name        = "file-processor-${var.environment}-kms-data"
  description = "Nodes: use the customer-managed keys of the queues and documents through SQS and S3."
  policy      = templatefile("${path.module}/policies/kms-data.json.tftpl", { kms_key_arns = var.kms_key_arns, region = local.region })
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "worker_kms_data" {
  count      = length(var.kms_key_arns) == 0 ? 0 : 1
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.kms_data[0].arn
}

resource "aws_iam_role_policy_attachment" "head_kms_data" {
  count      = length(var.kms_key_arns) == 0 ? 0 : 1
  role       = aws_iam_role.head.name
  policy_arn = aws_iam_policy.kms_data[0].arn
}

resource "aws_iam_policy" "data_plane" {
  name        = "file-processor-${var.environment}-data-plane"
  description = "Nodes: consume the queue, dead-letter, read documents, write the index, metrics, logs, SSM."
  policy      = local.data_plane_policy
  tags        = var.tags
}

resource "aws_iam_role" "worker" {
  name               = "file-processor-${var.environment}-worker"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "worker_data_plane" {
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.data_plane.arn
}

resource "aws_iam_role_policy" "worker_lifecycle" {
  name   = "termination-hook"
  role   = aws_iam_role.worker.id
  policy = local.lifecycle_policy
}

resource "aws_iam_instance_profile" "worker" {
  name = "file-processor-${var.environment}-worker"
  role = aws_iam_role.worker.name
  tags = var.tags
}

resource "aws_iam_role" "head" {
  name               = "file-processor-${var.environment}-ray-head"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "head_data_plane" {
  role       = aws_iam_role.head.name
  policy_arn = aws_iam_policy.data_plane.arn
}

resource "aws_iam_instance_profile" "head" {
  name = "file-processor-${var.environment}-ray-head"
  role = aws_iam_role.head.name
  tags = var.tags
}

resource "aws_iam_role_policy" "head_address" {
  name   = "publish-head-address"
  role   = aws_iam_role.head.id
  policy = local.head_address_policy
}
