# The work queue and its dead-letter queue.
#
# Visibility: the service sets OCR_VISIBILITY_TIMEOUT_S on each in-flight message every
# OCR_HEARTBEAT_S, so the queue's own visibility timeout only covers the gap between the
# receive and the first heartbeat. It is the heartbeat's visibility, which the checks below
# force to be at least twice the heartbeat interval (one missed heartbeat is survivable).

locals {
  dlq_name = "${var.name}-dlq"
  sse_sqs  = var.kms_master_key_id == null
}

check "heartbeat_fits_visibility" {
  assert {
    condition     = var.heartbeat_visibility_timeout_s >= 2 * var.heartbeat_interval_s
    error_message = "heartbeat_visibility_timeout_s must be at least twice heartbeat_interval_s, or a single late heartbeat redelivers the message."
  }
}

check "dlq_outlives_queue" {
  assert {
    condition     = var.dlq_retention_s > var.message_retention_s
    error_message = "dlq_retention_s must be longer than message_retention_s: a redelivered message keeps its original enqueue time."
  }
}

resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = var.dlq_retention_s
  sqs_managed_sse_enabled           = local.sse_sqs ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.sse_sqs ? null : 300
  tags                              = merge(var.tags, { Name = local.dlq_name })
}

resource "aws_sqs_queue" "this" {
  name                              = var.name
  visibility_timeout_seconds        = var.heartbeat_visibility_timeout_s
  message_retention_seconds         = var.message_retention_s
  receive_wait_time_seconds         = 20
  sqs_managed_sse_enabled           = local.sse_sqs ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.sse_sqs ? null : 300
  tags                              = merge(var.tags, { Name = var.name })

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only the work queue may redrive into the DLQ.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "s3_to_queue" {
  count = var.source_bucket == null ? 0 : 1

  statement {
    sid       = "S3BucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:aws:s3:::${var.source_bucket}"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "s3_to_queue" {
  count     = var.source_bucket == null ? 0 : 1
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.s3_to_queue[0].json
}

resource "aws_s3_bucket_notification" "source" {
  count  = var.source_bucket == null ? 0 : 1
  bucket = var.source_bucket

  dynamic "queue" {
    for_each = length(var.source_suffixes) == 0 ? [""] : var.source_suffixes
    content {
      queue_arn     = aws_sqs_queue.this.arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = var.source_prefix == "" ? null : var.source_prefix
      filter_suffix = queue.value == "" ? null : queue.value
    }
  }

  depends_on = [aws_sqs_queue_policy.s3_to_queue]
}
