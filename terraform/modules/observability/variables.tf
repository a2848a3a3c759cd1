variable "environment" {
  description = "Environment name (prod, stg, dev...), used in alarm and dashboard names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or '-'."
  }
}

variable "log_group_name" {
  description = "CloudWatch log group of the nodes (the guide's /aws/ec2/file-processor)."
  type        = string
  default     = "/aws/ec2/file-processor"

  validation {
    condition     = can(regex("^[.\\-_/#A-Za-z0-9]{1,512}$", var.log_group_name))
    error_message = "log_group_name must be a valid CloudWatch Logs group name."
  }
}

variable "log_retention_days" {
  description = "Retention of the log group in days (the guide keeps 30)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key ARN for the log group; null keeps CloudWatch Logs' default encryption."
  type        = string
  default     = null
}

variable "queue_name" {
  description = "Name of the work queue."
  type        = string
}

variable "dlq_name" {
  description = "Name of the dead-letter queue."
  type        = string
}

variable "asg_name" {
  description = "Name of the workers' Auto Scaling group."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the service publishes to (OCR_CLOUDWATCH_NAMESPACE)."
  type        = string
  default     = "OcrCluster"

  validation {
    condition     = length(var.metrics_namespace) > 0 && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be non-empty and must not start with \"AWS/\"."
  }
}

variable "agent_namespace" {
  description = "Namespace of the CloudWatch agent's memory metric."
  type        = string
  default     = "CWAgent"
}

variable "memory_metric_name" {
  description = "The CloudWatch agent's memory metric (Linux default mem_used_percent), published with the AutoScalingGroupName dimension."
  type        = string
  default     = "mem_used_percent"
}

variable "max_message_age_s" {
  description = "Alarm when the oldest message in the queue is older than this (seconds)."
  type        = number
  default     = 1800

  validation {
    condition     = var.max_message_age_s >= 60
    error_message = "max_message_age_s must be at least 60 seconds."
  }
}

variable "max_failed_documents" {
  description = "Alarm when more documents than this fail (DocumentsFailed) within 5 minutes."
  type        = number
  default     = 10

  validation {
    condition     = var.max_failed_documents >= 0
    error_message = "max_failed_documents must not be negative."
  }
}

variable "alarm_actions" {
  description = "ARNs (SNS topics) notified when an alarm fires and when it clears."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "alarm_actions must be ARNs."
  }
}

variable "tags" {
  description = "Tags for every resource (Application and Environment among them)."
  type        = map(string)
  default     = {}
}
