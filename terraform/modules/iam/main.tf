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

data "aws_iam_policy_document" "data_plane" {
  statement {
    sid       = "ConsumeQueue"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [var.queue_arn]
  }

  statement {
    sid       = "DeadLetter"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [var.dlq_arn]
  }

  statement {
    sid       = "ReadDocuments"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.objects_arn]
  }

  # A backfill (`ray job submit` on the head) lists the prefix: by version in a versioned bucket.
  statement {
    sid       = "ListDocuments"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.source_prefix}*"]
    }
  }

  statement {
    sid       = "ReadBucketVersioning"
    effect    = "Allow"
    actions   = ["s3:GetBucketVersioning"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "WriteIndex"
    effect    = "Allow"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    resources = ["${var.opensearch_domain_arn}/${var.opensearch_index}", "${var.opensearch_domain_arn}/${var.opensearch_index}/*"]
  }

  # PutMetricData has no resource-level permissions; the namespace condition is the scope.
  statement {
    sid       = "PutMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace, var.agent_namespace]
    }
  }

  statement {
    sid       = "WriteLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [var.log_group_arn, "${var.log_group_arn}:log-stream:*"]
  }

  statement {
    sid       = "ReadParameters"
    effect    = "Allow"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    resources = [local.ssm_arn, "${local.ssm_arn}/*"]
  }

  dynamic "statement" {
    for_each = var.ssm_kms_key_arn == null ? [] : [var.ssm_kms_key_arn]
    content {
      sid       = "DecryptParameters"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }
}

data "aws_iam_policy_document" "lifecycle" {
  statement {
    sid       = "TerminationHook"
    effect    = "Allow"
    actions   = ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"]
    resources = [local.asg_arn]
  }
}

# The head writes its own address at boot (cluster/bin/node-bootstrap).
data "aws_iam_policy_document" "head_address" {
  statement {
    sid       = "PublishHeadAddress"
    effect    = "Allow"
    actions   = ["ssm:PutParameter"]
    resources = ["${local.ssm_arn}/ray-head-address"]
  }
}

resource "aws_iam_policy" "data_plane" {
  name        = "file-processor-${var.environment}-data-plane"
  description = "Nodes: consume the queue, dead-letter, read documents, write the index, metrics, logs, SSM."
  policy      = data.aws_iam_policy_document.data_plane.json
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
  policy = data.aws_iam_policy_document.lifecycle.json
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
  policy = data.aws_iam_policy_document.head_address.json
}
