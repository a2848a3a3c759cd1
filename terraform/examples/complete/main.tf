# The whole fleet of one environment, with the guide's names.

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  tags       = { Application = "file-processor", Environment = var.environment, ManagedBy = "terraform" }
  ssm_prefix = "/file-processor/${var.environment}"
  asg_name   = "cis-filesearch-worker-asg"
}

module "queue" {
  source            = "../../modules/queue"
  name              = "file-processing-queue"
  max_receive_count = 5
  source_bucket     = var.source_bucket
  source_prefix     = var.source_prefix
  tags              = local.tags
}

module "observability" {
  source         = "../../modules/observability"
  environment    = var.environment
  log_group_name = "/aws/ec2/file-processor"
  queue_name     = module.queue.queue_name
  dlq_name       = module.queue.dlq_name
  asg_name       = local.asg_name
  alarm_actions  = var.alarm_topic_arns
  tags           = local.tags
}

module "iam" {
  source                = "../../modules/iam"
  environment           = var.environment
  queue_arn             = module.queue.queue_arn
  dlq_arn               = module.queue.dlq_arn
  source_bucket         = var.source_bucket
  source_prefix         = var.source_prefix
  opensearch_domain_arn = var.opensearch_domain_arn
  opensearch_index      = var.opensearch_index
  log_group_arn         = module.observability.log_group_arn
  asg_name              = local.asg_name
  ssm_prefix            = local.ssm_prefix
  tags                  = local.tags
}

module "ray_head" {
  source                = "../../modules/ray_head"
  environment           = var.environment
  vpc_id                = var.vpc_id
  subnet_id             = var.private_subnet_ids[0]
  ami_id                = var.ami_id
  instance_profile_name = module.iam.head_instance_profile_name
  ssm_prefix            = local.ssm_prefix
  tags                  = local.tags
}

module "workers" {
  source                = "../../modules/workers"
  environment           = var.environment
  launch_template_name  = "python-worker-template-v1"
  asg_name              = local.asg_name
  ami_id                = var.ami_id
  instance_profile_name = module.iam.worker_instance_profile_name
  security_group_ids    = [module.ray_head.security_group_id]
  private_subnet_ids    = var.private_subnet_ids
  max_size              = var.max_workers
  queue_name            = module.queue.queue_name
  tags                  = local.tags
}

module "operator" {
  source                 = "../../modules/operator"
  environment            = var.environment
  trusted_principal_arns = var.operator_principal_arns
  queue_arn              = module.queue.queue_arn
  dlq_arn                = module.queue.dlq_arn
  launch_template_arn    = module.workers.launch_template_arn
  asg_name               = module.workers.asg_name
  worker_role_arn        = module.iam.worker_role_arn
  smoke_bucket           = var.source_bucket
  smoke_prefix           = "${var.source_prefix}smoke/"
  opensearch_domain_arn  = var.opensearch_domain_arn
  opensearch_index       = var.opensearch_index
  tags                   = local.tags
}
