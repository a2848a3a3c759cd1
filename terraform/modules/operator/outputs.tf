output "role_arn" {
  description = "ARN of the operator role (assume it before `ocr-cluster ami deploy`)."
  value       = aws_iam_role.operator.arn
}

output "role_name" {
  description = "Name of the operator role."
  value       = aws_iam_role.operator.name
}
