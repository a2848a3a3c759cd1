variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "ap-northeast-1"
}

variable "environment" {
  description = "Environment name (prod, stg, dev...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or '-'."
  }
}

variable "ami_id" {
  description = "First worker/head AMI (python-worker-vYYYYMMDD-HHMMSS); later ones go out with `ocr-cluster ami deploy`."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (with a NAT gateway or VPC endpoints for SQS, S3, CloudWatch, SSM, OpenSearch)."
  type        = list(string)
}

variable "source_bucket" {
  description = "Bucket of the scanned documents."
  type        = string
}

variable "source_prefix" {
  description = "Prefix of the documents in the bucket (\"\" for all)."
  type        = string
  default     = ""
}

variable "opensearch_domain_arn" {
  description = "ARN of the existing OpenSearch domain."
  type        = string
}

variable "opensearch_endpoint" {
  description = "HTTPS endpoint of the existing OpenSearch domain (OCR_OPENSEARCH_URL)."
  type        = string

  validation {
    condition     = startswith(var.opensearch_endpoint, "https://")
    error_message = "opensearch_endpoint must be an https:// URL."
  }
}

variable "opensearch_index" {
  description = "Index the service writes."
  type        = string
  default     = "documents"
}

variable "operator_principal_arns" {
  description = "Principals allowed to assume the operator role."
  type        = list(string)
}

variable "alarm_topic_arns" {
  description = "SNS topics for the alarms."
  type        = list(string)
  default     = []
}

variable "max_workers" {
  description = "Most worker instances."
  type        = number
  default     = 10
}

variable "languages" {
  description = "Tesseract languages of the service (OCR_LANGUAGES; jpn alone, its Latin lines read again by eng: OCR_LATIN_LANGUAGE's default); the image also carries eng, osd and jpn_vert."
  type        = string
  default     = "jpn"

  validation {
    condition     = can(regex("^[a-z_]+(\\+[a-z_]+)*$", var.languages))
    error_message = "languages must look like jpn+eng."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the service publishes to (OCR_CLOUDWATCH_NAMESPACE), alarmed on and scaled on."
  type        = string
  default     = "OcrCluster"
}

variable "queue_kms_key_arn" {
  description = "Customer-managed KMS key (ARN) of the queue and DLQ (SSE-KMS; its key policy must let s3.amazonaws.com use it for the bucket notifications); null: SSE-SQS. The node and operator roles are granted it."
  type        = string
  default     = null
}

variable "source_bucket_kms_key_arn" {
  description = "KMS key (ARN) the source bucket's objects are encrypted with (SSE-KMS); null: SSE-S3. The node and operator roles are granted it."
  type        = string
  default     = null
}

variable "create_ami_builder" {
  description = "Create the AMI builder's role and instance profile (FileProcessorBuilderRole; once per account)."
  type        = bool
  default     = true
}
