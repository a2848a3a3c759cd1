output "parameters" {
  description = "Every config parameter the nodes read, KEY = value (OCR_TESSDATA included)."
  value       = local.parameters
}

output "env_lines" {
  description = "The config lines node-bootstrap writes to /etc/file-processor/env, KEY=value, sorted by key."
  value       = join("\n", [for key in sort(keys(local.parameters)) : "${key}=${local.parameters[key]}"])
}

output "config_path" {
  description = "SSM path node-bootstrap reads (get-parameters-by-path)."
  value       = "${var.ssm_prefix}/config/"
}

output "head_address_parameter" {
  description = "SSM parameter of the head's ip:port."
  value       = aws_ssm_parameter.head_address.name
}

output "ray_auth_token_parameter" {
  description = "SSM SecureString of the Ray token."
  value       = aws_ssm_parameter.ray_auth_token.name
}
