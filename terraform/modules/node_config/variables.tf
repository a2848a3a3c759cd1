variable "ssm_prefix" {
  description = "SSM path of the environment, e.g. /file-processor/prod (node-bootstrap reads <prefix>/config/)."
  type        = string

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$", var.ssm_prefix))
    error_message = "ssm_prefix must start with '/' and must not end with '/'."
  }
}

variable "parameters" {
  description = "Node settings, KEY = value (OCR_QUEUE_URL, OCR_INDEX, ...); OCR_TESSDATA comes from the image's versions.env."
  type        = map(string)

  validation {
    condition     = alltrue([for key in keys(var.parameters) : can(regex("^[A-Z][A-Z0-9_]*$", key))])
    error_message = "parameter keys must be environment variable names (A-Z, 0-9, _)."
  }

  validation {
    condition     = !contains(keys(var.parameters), "OCR_TESSDATA")
    error_message = "OCR_TESSDATA is the image's (ami/scripts/versions.env TESSDATA_DIR), not a setting."
  }
}

variable "versions_env_path" {
  description = "Path of the image's versions.env (null: ami/scripts/versions.env of this repository)."
  type        = string
  default     = null
}

variable "unset_value" {
  description = "Placeholder of the parameters set outside Terraform (head address, Ray token); node-bootstrap treats it as unset."
  type        = string
  default     = "unset"

  validation {
    condition     = length(var.unset_value) > 0
    error_message = "unset_value must not be empty (SSM refuses empty values)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the Ray token; null uses aws/ssm."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource (Application and Environment among them)."
  type        = map(string)
  default     = {}
}
