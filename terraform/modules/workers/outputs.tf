output "launch_template_id" {
  description = "Id of the launch template."
  value       = aws_launch_template.this.id
}

output "launch_template_arn" {
  description = "ARN of the launch template (the operator role may version it)."
  value       = aws_launch_template.this.arn
}

output "launch_template_name" {
  description = "Name of the launch template (OCR_LAUNCH_TEMPLATE)."
  value       = aws_launch_template.this.name
}

output "asg_name" {
  description = "Name of the Auto Scaling group (OCR_ASG_NAME)."
  value       = aws_autoscaling_group.this.name
}

output "asg_arn" {
  description = "ARN of the Auto Scaling group."
  value       = aws_autoscaling_group.this.arn
}

output "lifecycle_hook_name" {
  description = "The termination hook (OCR_LIFECYCLE_HOOK)."
  value       = var.lifecycle_hook_name
}
