package main
import rego.v1
violations contains "x" if input.x