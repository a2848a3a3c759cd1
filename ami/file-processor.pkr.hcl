# The node image: Amazon Linux 2023 + ocr-cluster (its tesserocr wheel bundles the engine) + the
# pinned language data (jpn, eng, osd, jpn_vert) + the systemd units.
# Build with ami/build.sh (it stages the payload and passes git_commit). The template only
# orders the standalone scripts in ami/scripts/, each runnable by hand on a builder.

packer {
  required_version = ">= 1.9.0"
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "region" {
  type        = string
  default     = "ap-northeast-1"
  description = "Region the image is built in."
}

variable "environment" {
  type        = string
  default     = "production"
  description = "Environment tag of the image."
}

variable "git_commit" {
  type        = string
  description = "Commit the image is built from (GitCommit tag)."
  validation {
    condition     = can(regex("^[0-9a-f]{7,40}$", var.git_commit))
    error_message = "The git_commit must be a commit hash."
  }
}

variable "instance_type" {
  type        = string
  default     = "c7i.xlarge"
  description = "Builder instance type (nothing is compiled: the engine comes in the tesserocr wheel)."
}

variable "builder_instance_profile" {
  type        = string
  default     = "FileProcessorBuilderRole"
  description = "Instance profile of the builder; no AWS keys are ever given to it."
}

variable "subnet_id" {
  type        = string
  default     = null
  description = "Private subnet of the builder (reached through Session Manager)."
}

variable "build_dir" {
  type        = string
  default     = "build/ami"
  description = "Payload staged by ami/build.sh: dist/, requirements.lock, cluster/, docs/, ami/scripts/."
}

locals {
  timestamp   = formatdate("YYYYMMDD-hhmmss", timestamp())
  ami_name    = "python-worker-v${local.timestamp}"
  application = "file-processor"
  image_tags = {
    Name          = local.ami_name
    Environment   = var.environment
    Application   = local.application
    GitCommit     = var.git_commit
    SourceAMI     = "{{ .SourceAMI }}"
    SourceAMIName = "{{ .SourceAMIName }}"
    BuildTime     = local.timestamp
  }
}

source "amazon-ebs" "worker" {
  region                  = var.region
  instance_type           = var.instance_type
  subnet_id               = var.subnet_id
  iam_instance_profile    = var.builder_instance_profile
  ami_name                = local.ami_name
  ami_description         = "ocr-cluster node (Ray + tesserocr; jpn, eng, osd, jpn_vert), commit ${var.git_commit}"
  imds_support            = "v2.0"
  encrypt_boot            = true
  ssh_username            = "ec2-user"
  ssh_interface           = "session_manager"
  temporary_key_pair_type = "ed25519"

  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-kernel-6.1-x86_64"
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 30
    volume_type           = "gp3"
    encrypted             = true
    delete_on_termination = true
  }

  run_tags = {
    Name        = "python-worker-ami-builder"
    Application = local.application
    GitCommit   = var.git_commit
  }
  tags          = local.image_tags
  snapshot_tags = local.image_tags
}

build {
  name    = "file-processor-node"
  sources = ["source.amazon-ebs.worker"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/ami-build"]
  }

  provisioner "file" {
    source      = "${var.build_dir}/"
    destination = "/tmp/ami-build"
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/install.sh"
    environment_vars = ["BUILD_DIR=/tmp/ami-build"]
    execute_command  = "sudo env {{ .Vars }} bash '{{ .Path }}'"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/opt/file-processor/MANIFEST.json"
    destination = "${path.root}/output/${local.ami_name}.versions.json"
  }

  # cleanup and validate run from /dev/shm (tmpfs, not in the image) so that Packer's own
  # uploaded copy of the script is not a leftover in /tmp.
  provisioner "shell" {
    script           = "${path.root}/scripts/cleanup.sh"
    remote_folder    = "/dev/shm"
    environment_vars = ["AMI_ROOT=/", "FP_AMI_LIB=/opt/file-processor/ami"]
    execute_command  = "sudo env {{ .Vars }} bash '{{ .Path }}'"
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/validate.sh"
    remote_folder    = "/dev/shm"
    environment_vars = ["AMI_ROOT=/", "FP_AMI_LIB=/opt/file-processor/ami"]
    execute_command  = "sudo env {{ .Vars }} bash '{{ .Path }}'"
  }

  post-processor "manifest" {
    output     = "${path.root}/output/manifest.json"
    strip_path = true
    custom_data = {
      ami_name     = local.ami_name
      git_commit   = var.git_commit
      environment  = var.environment
      versions     = "${local.ami_name}.versions.json"
      base_image   = "Amazon Linux 2023"
      instructions = "docs/nodes.md"
    }
  }
}
