output "log_group_name" {
  description = "Name of the nodes' log group."
  value       = aws_cloudwatch_log_group.nodes.name
}

output "log_group_arn" {
  description = "ARN of the nodes' log group."
  value       = aws_cloudwatch_log_group.nodes.arn
}

output "alarm_arns" {
  description = "ARNs of the alarms, by purpose."
  value = {
    dlq_not_empty        = aws_cloudwatch_metric_alarm.dlq_not_empty.arn
    oldest_message_age   = aws_cloudwatch_metric_alarm.oldest_message_age.arn
    no_healthy_instances = aws_cloudwatch_metric_alarm.no_healthy_instances.arn
    error_rate           = aws_cloudwatch_metric_alarm.error_rate.arn
  }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
