variable "environment" {
  description = "Environment name (prod, stg, dev...), part of role names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or '-'."
  }
}

variable "queue_arn" {
  description = "ARN of the work queue the nodes consume."
  type        = string

  validation {
    condition     = startswith(var.queue_arn, "arn:") && strcontains(var.queue_arn, ":sqs:")
    error_message = "queue_arn must be an SQS queue ARN."
  }
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue the service sends permanent failures to."
  type        = string

  validation {
    condition     = startswith(var.dlq_arn, "arn:") && strcontains(var.dlq_arn, ":sqs:")
    error_message = "dlq_arn must be an SQS queue ARN."
  }
}

variable "source_bucket" {
  description = "Bucket holding the scanned documents."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.source_bucket))
    error_message = "source_bucket must be a valid S3 bucket name."
  }
}

variable "source_prefix" {
  description = "The nodes may read objects under this prefix only (\"\" for the whole bucket)."
  type        = string
  default     = ""

  validation {
    condition     = !startswith(var.source_prefix, "/") && !strcontains(var.source_prefix, "*")
    error_message = "source_prefix must not start with '/' nor contain '*'."
  }
}

variable "opensearch_domain_arn" {
  description = "ARN of the existing OpenSearch domain."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]{2,27}$", var.opensearch_domain_arn))
    error_message = "opensearch_domain_arn must look like arn:aws:es:REGION:ACCOUNT:domain/NAME."
  }
}

variable "opensearch_index" {
  description = "The index the service writes (OCR_INDEX)."
  type        = string
  default     = "documents"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_.-]*$", var.opensearch_index)) && !strcontains(var.opensearch_index, "*")
    error_message = "opensearch_index must be a lowercase index name without wildcards."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the service publishes to (OCR_CLOUDWATCH_NAMESPACE)."
  type        = string
  default     = "OcrCluster"
}

variable "agent_namespace" {
  description = "Namespace of the CloudWatch agent (memory metric)."
  type        = string
  default     = "CWAgent"
}

variable "log_group_arn" {
  description = "ARN of the nodes' log group (without the trailing \":*\")."
  type        = string

  validation {
    condition     = startswith(var.log_group_arn, "arn:") && !endswith(var.log_group_arn, ":*")
    error_message = "log_group_arn must be a log group ARN without the trailing \":*\"."
  }
}

variable "asg_name" {
  description = "Name of the workers' Auto Scaling group (its termination lifecycle hook)."
  type        = string
}

variable "ssm_prefix" {
  description = "SSM parameter path the nodes may read, e.g. /file-processor/prod."
  type        = string

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$", var.ssm_prefix))
    error_message = "ssm_prefix must start with '/' and must not end with '/'."
  }
}

variable "ssm_kms_key_arn" {
  description = "Customer-managed KMS key of the SecureString parameters; null when they use aws/ssm (no grant needed)."
  type        = string
  default     = null
}

variable "kms_key_arns" {
  description = "Customer-managed KMS keys of the queue and DLQ (SSE-KMS) and of the source bucket's objects; empty when they use SSE-SQS and SSE-S3 (no grant needed)."
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
