variable "name" {
  description = "Name of the builder's role and instance profile (Packer's builder_instance_profile; one per account)."
  type        = string
  default     = "FileProcessorBuilderRole"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)."
  }
}

variable "tags" {
  description = "Tags of the role and the instance profile."
  type        = map(string)
  default     = {}
}
