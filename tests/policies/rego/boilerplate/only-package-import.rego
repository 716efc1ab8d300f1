package main

import rego.v1
