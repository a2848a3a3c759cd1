variable "name" {
  description = "Name of the work queue; the DLQ is \"<name>-dlq\". The guide's queue is file-processing-queue."
  type        = string
  default     = "file-processing-queue"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 characters of letters, digits, '-' or '_' (room for the \"-dlq\" suffix)."
  }
}

variable "max_receive_count" {
  description = "Receives before SQS moves a message to the DLQ (the service dead-letters permanent failures itself; this catches crashes and poison messages)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "heartbeat_visibility_timeout_s" {
  description = "OCR_VISIBILITY_TIMEOUT_S of the service: the visibility each heartbeat sets (service default 120)."
  type        = number
  default     = 120

  validation {
    condition     = var.heartbeat_visibility_timeout_s >= 10 && var.heartbeat_visibility_timeout_s <= 43200
    error_message = "heartbeat_visibility_timeout_s must be between 10 and 43200 seconds."
  }
}

variable "heartbeat_interval_s" {
  description = "OCR_HEARTBEAT_S of the service: how often in-flight messages are extended (service default 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.heartbeat_interval_s > 0 && var.heartbeat_interval_s <= 3600
    error_message = "heartbeat_interval_s must be between 1 and 3600 seconds."
  }
}

variable "message_retention_s" {
  description = "How long the work queue keeps a message (seconds)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_s >= 60 && var.message_retention_s <= 1209600
    error_message = "message_retention_s must be between 60 and 1209600 seconds (14 days)."
  }
}

variable "dlq_retention_s" {
  description = "How long the DLQ keeps a message; must be longer than the work queue's (14 days by default, the SQS maximum)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_s >= 60 && var.dlq_retention_s <= 1209600
    error_message = "dlq_retention_s must be between 60 and 1209600 seconds (14 days)."
  }
}

variable "kms_master_key_id" {
  description = "KMS key for SSE-KMS; null uses SQS-managed encryption (SSE-SQS), which needs no key grants for the workers."
  type        = string
  default     = null
}

variable "source_bucket" {
  description = "The bucket whose new objects are announced on the queue; null creates no notification."
  type        = string
  default     = null
}

variable "source_prefix" {
  description = "Only objects under this prefix are announced (\"\" for the whole bucket)."
  type        = string
  default     = ""
}

variable "source_suffixes" {
  description = "One notification filter per suffix; an empty list announces every object under the prefix."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource (Application and Environment among them)."
  type        = map(string)
  default     = {}
}
