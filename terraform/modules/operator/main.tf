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

data "aws_iam_policy_document" "operator" {
  # Redrive (StartMessageMoveTask): receive/delete/read on the source, send on the destination.
  statement {
    sid       = "RedriveFromDlq"
    effect    = "Allow"
    actions   = ["sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [var.dlq_arn]
  }

  statement {
    sid       = "RedriveToQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [var.queue_arn]
  }

  statement {
    sid       = "DeployTemplate"
    effect    = "Allow"
    actions   = ["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"]
    resources = [var.launch_template_arn]
  }

  statement {
    sid       = "DeployRefresh"
    effect    = "Allow"
    actions   = ["autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh"]
    resources = [local.asg_arn]
  }

  statement {
    sid       = "PassWorkerRole"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [var.worker_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }

  statement {
    sid       = "PruneImages"
    effect    = "Allow"
    actions   = ["ec2:DeregisterImage", "ec2:DeleteSnapshot"]
    resources = [local.images_arn, local.snapshot_arn]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Application"
      values   = [var.application]
    }
  }

  # Describe/Get calls have no resource-level permissions.
  statement {
    sid    = "ReadState"
    effect = "Allow"
    actions = [
      "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeInstanceRefreshes",
      "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImages", "ec2:DescribeSnapshots",
      "ec2:DescribeInstances", "cloudwatch:GetMetricData",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:file-processor-${var.environment}-*"]
  }

  statement {
    sid       = "SmokeObject"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${var.smoke_bucket}/${var.smoke_prefix}*"]
  }

  statement {
    sid       = "SmokeSearch"
    effect    = "Allow"
    actions   = ["es:ESHttpGet", "es:ESHttpPost", "es:ESHttpDelete"]
    resources = ["${var.opensearch_domain_arn}/${var.opensearch_index}", "${var.opensearch_domain_arn}/${var.opensearch_index}/*"]
  }
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
  policy = data.aws_iam_policy_document.operator.json
}
