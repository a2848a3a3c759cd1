output "worker_role_arn" {
  description = "ARN of the workers' role."
  value       = aws_iam_role.worker.arn
}

output "worker_instance_profile_name" {
  description = "Instance profile of the workers' launch template."
  value       = aws_iam_instance_profile.worker.name
}

output "worker_instance_profile_arn" {
  description = "ARN of the workers' instance profile."
  value       = aws_iam_instance_profile.worker.arn
}

output "head_role_arn" {
  description = "ARN of the Ray head's role."
  value       = aws_iam_role.head.arn
}

output "head_instance_profile_name" {
  description = "Instance profile of the Ray head."
  value       = aws_iam_instance_profile.head.name
}
