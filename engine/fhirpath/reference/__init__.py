"""The reference evaluator: FHIRPath evaluated by fhirpathpy, with the functions FHIR
constraints need that fhirpathpy lacks."""
