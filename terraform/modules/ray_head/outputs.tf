output "security_group_id" {
  description = "The cluster security group (the workers join it)."
  value       = aws_security_group.cluster.id
}

output "instance_id" {
  description = "Instance id of the Ray head."
  value       = aws_instance.head.id
}

output "private_ip" {
  description = "Private address of the Ray head."
  value       = aws_instance.head.private_ip
}

output "head_address_parameter" {
  description = "SSM parameter the head writes its ip:port to at boot (node-bootstrap)."
  value       = "${var.ssm_prefix}/ray-head-address"
}
