output "node_env" {
  description = "Lines for /etc/file-processor/env on the nodes and for the operator's shell."
  value = join("\n", [
    "OCR_QUEUE_URL=${module.queue.queue_url}",
    "OCR_DLQ_URL=${module.queue.dlq_url}",
    "OCR_OPENSEARCH_URL=${var.opensearch_endpoint}",
    "OCR_OPENSEARCH_AUTH=sigv4",
    "OCR_INDEX=${var.opensearch_index}",
    "OCR_CLOUDWATCH_NAMESPACE=OcrCluster",
    "OCR_ASG_NAME=${module.workers.asg_name}",
    "OCR_LIFECYCLE_HOOK=${module.workers.lifecycle_hook_name}",
    "OCR_LAUNCH_TEMPLATE=${module.workers.launch_template_name}",
  ])
}

output "operator_role_arn" {
  description = "Role to assume for deploys, prunes and redrives."
  value       = module.operator.role_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.observability.dashboard_name
}
