from django.contrib import admin

from annotate.models import ConceptSet, Neuron, NeuronImage, ProbeImage, Study

admin.site.register([Study, ConceptSet, Neuron, NeuronImage, ProbeImage])
