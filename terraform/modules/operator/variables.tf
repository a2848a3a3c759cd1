variable "environment" {
  description = "Environment name (prod, stg, dev...), part of the role name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or '-'."
  }
}

variable "application" {
  description = "Application tag of the images and snapshots the operator may delete."
  type        = string
  default     = "file-processor"
}

variable "trusted_principal_arns" {
  description = "IAM principals (roles or users of your SSO/operators) allowed to assume the operator role."
  type        = list(string)

  validation {
    condition     = length(var.trusted_principal_arns) > 0 && alltrue([for p in var.trusted_principal_arns : startswith(p, "arn:") && !strcontains(p, "*")])
    error_message = "trusted_principal_arns must be a non-empty list of ARNs without wildcards."
  }
}

variable "queue_arn" {
  description = "ARN of the work queue (redrive destination)."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue (redrive source)."
  type        = string
}

variable "launch_template_arn" {
  description = "ARN of the workers' launch template."
  type        = string
}

variable "asg_name" {
  description = "Name of the workers' Auto Scaling group."
  type        = string
}

variable "worker_role_arn" {
  description = "ARN of the workers' role (passed to EC2 by the launch template)."
  type        = string
}

variable "source_bucket" {
  description = "Bucket of the documents (`backfill` and `dlq reprocess` read it)."
  type        = string
}

variable "source_prefix" {
  description = "Prefix of the documents in the bucket (\"\" for all)."
  type        = string
  default     = ""
}

variable "smoke_bucket" {
  description = "Bucket `ocr-cluster smoke` writes its test document to."
  type        = string
}

variable "smoke_prefix" {
  description = "Prefix of the smoke-test objects (must be announced on the queue)."
  type        = string
  default     = "smoke/"

  validation {
    condition     = length(var.smoke_prefix) > 0 && !startswith(var.smoke_prefix, "/") && !strcontains(var.smoke_prefix, "*")
    error_message = "smoke_prefix must be non-empty, not start with '/' and contain no '*'."
  }
}

variable "opensearch_domain_arn" {
  description = "ARN of the existing OpenSearch domain."
  type        = string
}

variable "opensearch_index" {
  description = "The index the service writes (OCR_INDEX)."
  type        = string
  default     = "documents"
}

variable "ssm_prefix" {
  description = "SSM path of the environment, e.g. /file-processor/prod: the operator may read its Ray token (<prefix>/ray-auth-token) to submit backfills."
  type        = string

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$", var.ssm_prefix))
    error_message = "ssm_prefix must start with '/' and must not end with '/'."
  }
}

variable "max_session_duration_s" {
  description = "Longest session of the operator role (seconds)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration_s >= 3600 && var.max_session_duration_s <= 43200
    error_message = "max_session_duration_s must be between 3600 and 43200."
  }
}

variable "kms_key_arns" {
  description = "Customer-managed KMS keys of the queue and DLQ and of the source bucket's objects (module iam's kms_key_arns); empty for SSE-SQS and SSE-S3."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", arn))])
    error_message = "kms_key_arns must be key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID), not aliases or ids."
  }
}

variable "tags" {
  description = "Tags for every resource (Application and Environment among them)."
  type        = map(string)
  default     = {}
}
