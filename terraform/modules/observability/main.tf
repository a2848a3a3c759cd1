# Logs, alarms and the dashboard of the guide's daily health check.

locals {
  prefix = "file-processor-${var.environment}"
  region = data.aws_region.current.name

  sqs_queue = { QueueName = var.queue_name }
  asg       = { AutoScalingGroupName = var.asg_name }

  # Dashboard: the guide's metrics (visible messages, oldest age, in-service instances, CPU,
  # memory) and the service's pages/s and backlog per instance.
  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title   = "Visible messages (queue, DLQ)", region = local.region, stat = "Maximum", period = 60
        metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name], ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dlq_name]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title   = "Age of the oldest message (s)", region = local.region, stat = "Maximum", period = 60
        metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", var.queue_name]]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 8, height = 6
      properties = {
        title   = "In-service instances", region = local.region, stat = "Average", period = 60
        metrics = [["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", var.asg_name], ["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", var.asg_name]]
      }
    },
    {
      type = "metric", x = 8, y = 6, width = 8, height = 6
      properties = {
        title   = "CPU utilisation (%)", region = local.region, stat = "Average", period = 60
        metrics = [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", var.asg_name]]
      }
    },
    {
      type = "metric", x = 16, y = 6, width = 8, height = 6
      properties = {
        title   = "Memory used (%)", region = local.region, stat = "Average", period = 60
        metrics = [[var.agent_namespace, var.memory_metric_name, "AutoScalingGroupName", var.asg_name]]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = "Pages per second", region = local.region, stat = "Sum", period = 60
        metrics = [[var.metrics_namespace, "PagesPerSecond", "AutoScalingGroupName", var.asg_name]]
      }
    },
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title   = "Backlog per instance, failed documents", region = local.region, stat = "Maximum", period = 60
        metrics = [[var.metrics_namespace, "BacklogPerInstance", "AutoScalingGroupName", var.asg_name], [var.metrics_namespace, "DocumentsFailed", "AutoScalingGroupName", var.asg_name, { stat = "Sum" }]]
      }
    },
  ]
}

data "aws_region" "current" {}

resource "aws_cloudwatch_log_group" "nodes" {
  #checkov:skip=CKV_AWS_338:The guide keeps node logs 30 days (log_retention_days); longer retention belongs in an S3 export, not in CloudWatch Logs at its price.
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${local.prefix}-dlq-not-empty"
  alarm_description   = "Messages are in the DLQ: read them with `ocr-cluster status` and docs/operations.md (drain the DLQ)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.dlq_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${local.prefix}-oldest-message-age"
  alarm_description   = "The oldest message has waited longer than ${var.max_message_age_s} s: the workers do not keep up or do not run."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = local.sqs_queue
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.max_message_age_s
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# No healthy instance while work is waiting (an idle group scaled to zero is not an alarm).
resource "aws_cloudwatch_metric_alarm" "no_healthy_instances" {
  alarm_name          = "${local.prefix}-no-healthy-instances"
  alarm_description   = "Messages are waiting and the group has no in-service instance."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 5
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "stranded"
    expression  = "IF(visible > 0 AND inservice < 1, 1, 0)"
    label       = "Work waiting, no in-service instance"
    return_data = true
  }

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = local.sqs_queue
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id = "inservice"
    metric {
      namespace   = "AWS/AutoScaling"
      metric_name = "GroupInServiceInstances"
      dimensions  = local.asg
      stat        = "Minimum"
      period      = 60
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "error_rate" {
  alarm_name          = "${local.prefix}-error-rate"
  alarm_description   = "More than ${var.max_failed_documents} documents failed in 5 minutes (service metric DocumentsFailed)."
  namespace           = var.metrics_namespace
  metric_name         = "DocumentsFailed"
  dimensions          = local.asg
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.max_failed_documents
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
