# The Ray head and the cluster's security group.
#
# One security group holds the head and every worker: Ray's ports are open only to members of
# the group; the only other traffic is HTTPS out (AWS APIs, OpenSearch). DNS, NTP and the
# instance metadata service are link-local and not subject to security groups.

locals {
  # cluster/user-data.sh carries no setting and no secret: the node reads its Role and
  # Environment tags from IMDSv2 and the rest (the Ray auth token included) from SSM.
  tags           = merge(var.tags, { Environment = var.environment })
  user_data_path = coalesce(var.user_data_path, "${path.module}/../../../cluster/user-data.sh")
}

resource "aws_security_group" "cluster" {
  name        = "file-processor-${var.environment}-ray-cluster"
  description = "Ray head and workers: Ray ports inside the group, HTTPS out"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = "file-processor-${var.environment}-ray-cluster" })

  dynamic "ingress" {
    for_each = var.ray_ports
    content {
      description = ingress.value.description
      from_port   = ingress.value.from_port
      to_port     = ingress.value.to_port
      protocol    = "tcp"
      self        = true
    }
  }

  dynamic "ingress" {
    for_each = length(var.metrics_scrape_cidrs) == 0 ? [] : [var.ray_metrics_port]
    content {
      description = "Ray metrics, scraped by Prometheus"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = var.metrics_scrape_cidrs
    }
  }

  dynamic "egress" {
    for_each = var.ray_ports
    content {
      description = egress.value.description
      from_port   = egress.value.from_port
      to_port     = egress.value.to_port
      protocol    = "tcp"
      self        = true
    }
  }

  egress {
    description = "HTTPS to AWS APIs and OpenSearch"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.https_egress_cidrs
  }
}

resource "aws_instance" "head" {
  ami                    = var.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.cluster.id]
  iam_instance_profile   = var.instance_profile_name
  user_data_base64       = filebase64(local.user_data_path)
  monitoring             = true
  ebs_optimized          = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }

  root_block_device {
    encrypted   = true
    kms_key_id  = var.ebs_kms_key_arn
    volume_size = var.root_volume_gb
    volume_type = "gp3"
  }

  tags        = merge(local.tags, { Name = "file-processor-${var.environment}-ray-head", Role = "head" })
  volume_tags = local.tags

  # A new AMI for the head is a planned replacement (the whole cluster restarts), not a drift.
  lifecycle {
    ignore_changes = [ami, user_data_base64]
  }
}
