output "instance_profile_name" {
  description = "The builder's instance profile (pass as -var builder_instance_profile=... when not the default)."
  value       = aws_iam_instance_profile.builder.name
}

output "role_arn" {
  description = "ARN of the builder's role."
  value       = aws_iam_role.builder.arn
}
