"""A stand-in for Alibaba Cloud's SMS and voice services, at the wire (`simulate aliyun`)."""
