# The AMI builder's instance profile (ami/file-processor.pkr.hcl, `builder_instance_profile`):
# Packer reaches the builder through Session Manager, and the builder makes no AWS call of its
# own (ami/scripts/install.sh reads only the staged payload and the pinned downloads), so the
# role holds the Session Manager agent's rights and nothing else.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    sid     = "Ec2AssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "builder" {
  name               = var.name
  description        = "AMI builder (Packer over Session Manager); no data-plane rights"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "session_manager" {
  role       = aws_iam_role.builder.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "builder" {
  name = var.name
  role = aws_iam_role.builder.name
  tags = var.tags
}
