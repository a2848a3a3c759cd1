"""Operations: AMI deploy/prune, status, smoke, doctor — boto3, tested on moto."""
