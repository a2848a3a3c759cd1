output "node_env" {
  description = "The config lines of /etc/file-processor/env (the SSM parameters under <ssm_prefix>/config/), for the operator's shell."
  value       = module.node_config.env_lines
}

output "ssm_config_path" {
  description = "SSM path node-bootstrap reads its settings from."
  value       = module.node_config.config_path
}

output "operator_role_arn" {
  description = "Role to assume for deploys, prunes and redrives."
  value       = module.operator.role_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.observability.dashboard_name
}

output "ami_builder_instance_profile" {
  description = "Instance profile of the AMI builder (Packer's builder_instance_profile); null when another environment creates it."
  value       = one(module.ami_builder[*].instance_profile_name)
}
