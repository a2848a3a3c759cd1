variable "environment" {
  description = "Environment name (prod, stg, dev...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or '-'."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "subnet_id" {
  description = "Private subnet of the head node."
  type        = string

  validation {
    condition     = startswith(var.subnet_id, "subnet-")
    error_message = "subnet_id must be a subnet id (subnet-...)."
  }
}

variable "ami_id" {
  description = "AMI of the head (the same python-worker-v* image as the workers)."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "instance_type" {
  description = "Instance type of the head node."
  type        = string
  default     = "m7i.large"
}

variable "root_volume_gb" {
  description = "Size of the head's encrypted root volume (GiB)."
  type        = number
  default     = 50

  validation {
    condition     = var.root_volume_gb >= 20 && var.root_volume_gb <= 1000
    error_message = "root_volume_gb must be between 20 and 1000."
  }
}

variable "ebs_kms_key_arn" {
  description = "KMS key of the root volume; null uses the account's default EBS key."
  type        = string
  default     = null
}

variable "instance_profile_name" {
  description = "Instance profile of the head (modules/iam output head_instance_profile_name)."
  type        = string
}

variable "ssm_prefix" {
  description = "SSM path of the environment; the head's address is written to <ssm_prefix>/ray-head-address."
  type        = string

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$", var.ssm_prefix))
    error_message = "ssm_prefix must start with '/' and must not end with '/'."
  }
}

variable "user_data_path" {
  description = "Path of the node user data; null uses the repository's cluster/user-data.sh."
  type        = string
  default     = null
}

variable "ray_metrics_port" {
  description = "Ray's metrics export port (cluster/bin/ray-node RAY_METRICS_PORT)."
  type        = number
  default     = 8080
}

variable "metrics_scrape_cidrs" {
  description = "Where Prometheus scrapes Ray's metrics port from; empty keeps it inside the group."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.metrics_scrape_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "metrics_scrape_cidrs must be IPv4 CIDR blocks, never 0.0.0.0/0."
  }
}

variable "ray_ports" {
  description = "Ray's ports, open only between members of the cluster security group; the same ports cluster/bin/ray-node pins."
  type = list(object({
    from_port   = number
    to_port     = number
    description = string
  }))
  default = [
    { from_port = 6379, to_port = 6379, description = "Ray GCS" },
    { from_port = 8265, to_port = 8265, description = "Ray dashboard and job API" },
    { from_port = 10001, to_port = 10001, description = "Ray client server" },
    { from_port = 6380, to_port = 6381, description = "Ray node manager and object manager" },
    { from_port = 8080, to_port = 8080, description = "Ray metrics export" },
    { from_port = 52365, to_port = 52367, description = "Ray dashboard agent (HTTP, gRPC) and runtime-env agent" },
    { from_port = 10002, to_port = 10999, description = "Ray worker processes" },
  ]

  validation {
    condition     = alltrue([for p in var.ray_ports : p.from_port >= 1024 && p.to_port <= 65535 && p.from_port <= p.to_port])
    error_message = "ray_ports must be ranges within 1024-65535 with from_port <= to_port."
  }
}

variable "https_egress_cidrs" {
  description = "Where HTTPS may go: the AWS APIs (through the NAT gateway or VPC endpoints) and the OpenSearch domain. Narrow it to the endpoints' prefix lists where you have them."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.https_egress_cidrs : can(cidrnetmask(c))])
    error_message = "https_egress_cidrs must be IPv4 CIDR blocks."
  }
}

variable "tags" {
  description = "Tags for every resource (Application and Environment among them)."
  type        = map(string)
  default     = {}
}
