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

  # The nodes' settings: written once here, stored as SSM parameters under
  # <ssm_prefix>/config/ (module node_config), read by node-bootstrap into
  # /etc/file-processor/env, and printed for the operator's shell by `terraform output node_env`.
  node_config = {
    OCR_QUEUE_URL            = module.queue.queue_url
    OCR_DLQ_URL              = module.queue.dlq_url
    OCR_VISIBILITY_TIMEOUT_S = module.queue.heartbeat_visibility_timeout_s
    OCR_HEARTBEAT_S          = module.queue.heartbeat_interval_s
    OCR_OPENSEARCH_URL       = var.opensearch_endpoint
    OCR_OPENSEARCH_AUTH      = "sigv4"
    OCR_INDEX                = var.opensearch_index
    OCR_LANGUAGES            = var.languages
    OCR_CLOUDWATCH_NAMESPACE = var.metrics_namespace
    OCR_ASG_NAME             = module.workers.asg_name
    OCR_LIFECYCLE_HOOK       = module.workers.lifecycle_hook_name
    OCR_LAUNCH_TEMPLATE      = module.workers.launch_template_name
    OCR_SMOKE_BUCKET         = var.source_bucket
    OCR_SMOKE_PREFIX         = local.smoke_prefix
  }

  # The customer-managed keys the roles must use (none with SSE-SQS and SSE-S3).
  kms_key_arns = compact([var.queue_kms_key_arn, var.source_bucket_kms_key_arn])

  # Under the prefix the bucket notification announces, so a smoke object reaches the queue.
  smoke_prefix = "${var.source_prefix}smoke/"
}

module "node_config" {
  source     = "../../modules/node_config"
  ssm_prefix = local.ssm_prefix
  parameters = local.node_config
  tags       = local.tags
}

module "queue" {
  source            = "../../modules/queue"
  name              = "file-processing-queue"
  max_receive_count = 5
  source_bucket     = var.source_bucket
  source_prefix     = var.source_prefix
  kms_master_key_id = var.queue_kms_key_arn
  tags              = local.tags
}

module "observability" {
  source            = "../../modules/observability"
  environment       = var.environment
  log_group_name    = "/aws/ec2/file-processor"
  queue_name        = module.queue.queue_name
  dlq_name          = module.queue.dlq_name
  asg_name          = local.asg_name
  metrics_namespace = var.metrics_namespace
  alarm_actions     = var.alarm_topic_arns
  tags              = local.tags
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
  metrics_namespace     = var.metrics_namespace
  kms_key_arns          = local.kms_key_arns
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
  metrics_namespace     = var.metrics_namespace
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
  source_bucket          = var.source_bucket
  source_prefix          = var.source_prefix
  smoke_bucket           = var.source_bucket
  smoke_prefix           = local.smoke_prefix
  opensearch_domain_arn  = var.opensearch_domain_arn
  opensearch_index       = var.opensearch_index
  ssm_prefix             = local.ssm_prefix
  kms_key_arns           = local.kms_key_arns
  tags                   = local.tags
}

# The instance profile ami/build.sh's builder runs with (one per account: an environment that
# shares its account with one that creates it sets create_ami_builder = false).
module "ami_builder" {
  source = "../../modules/ami_builder"
  count  = var.create_ami_builder ? 1 : 0
  tags   = local.tags
}
