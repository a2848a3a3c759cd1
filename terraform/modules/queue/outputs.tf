output "queue_url" {
  description = "URL of the work queue (OCR_QUEUE_URL)."
  value       = aws_sqs_queue.this.id
}

output "queue_arn" {
  description = "ARN of the work queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the work queue (the QueueName dimension of AWS/SQS metrics)."
  value       = aws_sqs_queue.this.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue (OCR_DLQ_URL)."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "heartbeat_visibility_timeout_s" {
  description = "The visibility each heartbeat sets (OCR_VISIBILITY_TIMEOUT_S of the service): the nodes' setting, written once here."
  value       = var.heartbeat_visibility_timeout_s
}

output "heartbeat_interval_s" {
  description = "How often the service extends in-flight messages (OCR_HEARTBEAT_S): the nodes' setting, written once here."
  value       = var.heartbeat_interval_s
}
