# The workers: launch template, Auto Scaling group, scaling on backlog, termination hook.

locals {
  # cluster/user-data.sh: no setting and no secret; the node reads its Role and Environment
  # tags from IMDSv2 (instance_metadata_tags) and everything else from SSM.
  user_data_path = coalesce(var.user_data_path, "${path.module}/../../../cluster/user-data.sh")

  tags = merge(var.tags, { Application = var.application, Environment = var.environment })

  instance_tags = merge(local.tags, { Name = "${var.application}-${var.environment}-worker", Role = "worker" })
}

resource "aws_launch_template" "this" {
  name                   = var.launch_template_name
  description            = "OCR workers (${var.environment}); images rolled out by `ocr-cluster ami deploy`"
  image_id               = var.ami_id
  instance_type          = var.instance_type
  update_default_version = true
  vpc_security_group_ids = var.security_group_ids
  user_data              = filebase64(local.user_data_path)
  ebs_optimized          = true

  iam_instance_profile {
    name = var.instance_profile_name
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      volume_size           = var.root_volume_gb
      volume_type           = "gp3"
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = local.instance_tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.tags
  }

  tags = local.tags

  # `ocr-cluster ami deploy` owns the image after the first apply (new version, default,
  # instance refresh); Terraform must not roll it back.
  lifecycle {
    ignore_changes = [image_id]
  }
}

resource "aws_autoscaling_group" "this" {
  name                      = var.asg_name
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.min_size
  max_size                  = var.max_size
  health_check_type         = "EC2"
  health_check_grace_period = var.instance_warmup_s
  default_cooldown          = var.scale_in_cooldown_s
  default_instance_warmup   = var.instance_warmup_s
  termination_policies      = ["OldestLaunchTemplate", "OldestInstance"]
  metrics_granularity       = "1Minute"
  enabled_metrics = [
    "GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances",
    "GroupTerminatingInstances", "GroupTotalInstances",
  ]

  launch_template {
    id      = aws_launch_template.this.id
    version = "$Default"
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = var.min_healthy_percentage
      instance_warmup        = var.instance_warmup_s
    }
  }

  # Registered with the group so that no instance ever runs without it.
  initial_lifecycle_hook {
    name                 = var.lifecycle_hook_name
    lifecycle_transition = "autoscaling:EC2_INSTANCE_TERMINATING"
    heartbeat_timeout    = var.lifecycle_hook_timeout_s
    default_result       = "CONTINUE"
  }

  dynamic "tag" {
    for_each = local.instance_tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    ignore_changes = [desired_capacity]

    precondition {
      condition     = var.max_size >= var.min_size
      error_message = "max_size must be at least min_size."
    }
  }
}

# Backlog per instance by metric math; only the expression returns data. In-service
# instances of zero would divide by zero (no data, no scale-out from zero), so the
# expression falls back to the whole backlog then.
resource "aws_autoscaling_policy" "backlog_per_instance" {
  count                     = var.scaling_metric == "backlog_per_instance" ? 1 : 0
  name                      = "${var.asg_name}-backlog-per-instance"
  autoscaling_group_name    = aws_autoscaling_group.this.name
  policy_type               = "TargetTrackingScaling"
  estimated_instance_warmup = var.scale_out_cooldown_s

  target_tracking_configuration {
    target_value = var.target_backlog_per_instance

    customized_metric_specification {
      metrics {
        id          = "visible"
        label       = "Visible messages"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = var.queue_name
            }
          }
        }
      }

      metrics {
        id          = "inservice"
        label       = "In-service instances"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/AutoScaling"
            metric_name = "GroupInServiceInstances"
            dimensions {
              name  = "AutoScalingGroupName"
              value = aws_autoscaling_group.this.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_instance"
        label       = "Visible messages per in-service instance"
        expression  = "IF(inservice > 0, visible / inservice, visible)"
        return_data = true
      }
    }
  }
}

# The service's own metric: seconds of OCR work waiting per instance (pages weighted).
resource "aws_autoscaling_policy" "page_weighted_backlog" {
  count                     = var.scaling_metric == "page_weighted_backlog" ? 1 : 0
  name                      = "${var.asg_name}-page-weighted-backlog"
  autoscaling_group_name    = aws_autoscaling_group.this.name
  policy_type               = "TargetTrackingScaling"
  estimated_instance_warmup = var.scale_out_cooldown_s

  target_tracking_configuration {
    target_value = var.target_page_weighted_backlog_s

    customized_metric_specification {
      metric_name = "PageWeightedBacklogSeconds"
      namespace   = var.metrics_namespace
      statistic   = "Average"

      metric_dimension {
        name  = "AutoScalingGroupName"
        value = aws_autoscaling_group.this.name
      }
    }
  }
}
