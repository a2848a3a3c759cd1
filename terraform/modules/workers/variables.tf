variable "environment" {
  description = "Environment name (prod, stg, dev...): the Environment cost-allocation tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or '-'."
  }
}

variable "application" {
  description = "The Application cost-allocation tag (the guide's cost reports filter on file-processor)."
  type        = string
  default     = "file-processor"
}

variable "launch_template_name" {
  description = "Name of the launch template (the guide's python-worker-template-v1)."
  type        = string
  default     = "python-worker-template-v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9().\\/_-]{3,128}$", var.launch_template_name))
    error_message = "launch_template_name must be 3-128 characters of letters, digits and ().-/_"
  }
}

variable "asg_name" {
  description = "Name of the Auto Scaling group (the guide's cis-filesearch-worker-asg)."
  type        = string
  default     = "cis-filesearch-worker-asg"

  validation {
    condition     = length(var.asg_name) >= 1 && length(var.asg_name) <= 255
    error_message = "asg_name must be 1-255 characters."
  }
}

variable "ami_id" {
  description = "The first AMI of the launch template (python-worker-vYYYYMMDD-HHMMSS). Later images are rolled out with `ocr-cluster ami deploy`, so Terraform ignores changes to it."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "instance_type" {
  description = "Instance type of the workers (one Tesseract process per vCPU)."
  type        = string
  default     = "c7i.2xlarge"
}

variable "root_volume_gb" {
  description = "Size of each worker's encrypted root volume (GiB)."
  type        = number
  default     = 50

  validation {
    condition     = var.root_volume_gb >= 20 && var.root_volume_gb <= 1000
    error_message = "root_volume_gb must be between 20 and 1000."
  }
}

variable "ebs_kms_key_arn" {
  description = "KMS key of the root volumes; null uses the account's default EBS key."
  type        = string
  default     = null
}

variable "instance_profile_name" {
  description = "Instance profile of the workers (modules/iam output worker_instance_profile_name)."
  type        = string
}

variable "security_group_ids" {
  description = "Security groups of the workers (the cluster group from modules/ray_head)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0 && alltrue([for s in var.security_group_ids : startswith(s, "sg-")])
    error_message = "security_group_ids must be a non-empty list of sg-... ids."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the group, one per availability zone."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0 && alltrue([for s in var.private_subnet_ids : startswith(s, "subnet-")])
    error_message = "private_subnet_ids must be a non-empty list of subnet-... ids."
  }
}

variable "min_size" {
  description = "Fewest workers (0 lets an idle environment scale to zero)."
  type        = number
  default     = 1

  validation {
    condition     = var.min_size >= 0
    error_message = "min_size must not be negative."
  }
}

variable "max_size" {
  description = "Most workers (mind the account's On-Demand vCPU quota L-1216C47A)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_size >= 1 && var.max_size <= 1000
    error_message = "max_size must be between 1 and 1000."
  }
}

variable "user_data_path" {
  description = "Path of the node user data; null uses the repository's cluster/user-data.sh."
  type        = string
  default     = null
}

variable "queue_name" {
  description = "Name of the work queue (the backlog metric)."
  type        = string
}

variable "scaling_metric" {
  description = "backlog_per_instance: metric math on SQS visible messages / in-service instances; page_weighted_backlog: the service's PageWeightedBacklogSeconds metric."
  type        = string
  default     = "backlog_per_instance"

  validation {
    condition     = contains(["backlog_per_instance", "page_weighted_backlog"], var.scaling_metric)
    error_message = "scaling_metric must be backlog_per_instance or page_weighted_backlog."
  }
}

variable "target_backlog_per_instance" {
  description = "Target of visible messages per in-service instance (about what one instance OCRs in the acceptable latency)."
  type        = number
  default     = 20

  validation {
    condition     = var.target_backlog_per_instance > 0
    error_message = "target_backlog_per_instance must be positive."
  }
}

variable "target_page_weighted_backlog_s" {
  description = "Target of the service's PageWeightedBacklogSeconds (seconds of OCR work waiting per instance)."
  type        = number
  default     = 600

  validation {
    condition     = var.target_page_weighted_backlog_s > 0
    error_message = "target_page_weighted_backlog_s must be positive."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the service publishes to (OCR_CLOUDWATCH_NAMESPACE)."
  type        = string
  default     = "OcrCluster"
}

variable "scale_out_cooldown_s" {
  description = "Guide: scale-out cooldown. Target tracking's estimated instance warm-up: a new instance counts towards the metric after this long, so the next scale-out waits no longer."
  type        = number
  default     = 60

  validation {
    condition     = var.scale_out_cooldown_s >= 0 && var.scale_out_cooldown_s <= 3600
    error_message = "scale_out_cooldown_s must be between 0 and 3600."
  }
}

variable "scale_in_cooldown_s" {
  description = "Guide: scale-in cooldown. The group's default cooldown (manual and simple scaling); target tracking's own scale-in alarm already waits 15 minutes below target."
  type        = number
  default     = 300

  validation {
    condition     = var.scale_in_cooldown_s >= 0 && var.scale_in_cooldown_s <= 3600
    error_message = "scale_in_cooldown_s must be between 0 and 3600."
  }
}

variable "instance_warmup_s" {
  description = "Instance refresh warm-up: seconds before a new instance counts as healthy capacity (guide: 300)."
  type        = number
  default     = 300

  validation {
    condition     = var.instance_warmup_s >= 0 && var.instance_warmup_s <= 3600
    error_message = "instance_warmup_s must be between 0 and 3600."
  }
}

variable "min_healthy_percentage" {
  description = "Instance refresh: share of the group kept in service while replacing (guide: 90)."
  type        = number
  default     = 90

  validation {
    condition     = var.min_healthy_percentage >= 0 && var.min_healthy_percentage <= 100
    error_message = "min_healthy_percentage must be between 0 and 100."
  }
}

variable "lifecycle_hook_name" {
  description = "Name of the termination lifecycle hook (OCR_LIFECYCLE_HOOK of the service)."
  type        = string
  default     = "file-processor-drain"
}

variable "lifecycle_hook_timeout_s" {
  description = "How long a terminating worker may drain before the hook times out (must exceed OCR_DRAIN_TIMEOUT_S, default 90)."
  type        = number
  default     = 300

  validation {
    condition     = var.lifecycle_hook_timeout_s >= 30 && var.lifecycle_hook_timeout_s <= 7200
    error_message = "lifecycle_hook_timeout_s must be between 30 and 7200."
  }
}

variable "tags" {
  description = "Extra tags for every resource; Application and Environment are added from their variables."
  type        = map(string)
  default     = {}
}
