from django.contrib import admin

from annotate.models import ConceptSet, Neuron, NeuronImage, ProbeImage, Study, StudyRole
from annotate.ownership import do_restore_study


class StudyRoleInline(admin.TabularInline):
    model = StudyRole
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = [
        "name", "target_network", "method", "probe_dataset", "k", "is_demo", "created",
        "archived_at",
    ]  # fmt: skip
    list_filter = ["method", "is_demo", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "target_network", "probe_dataset"]
    raw_id_fields = ["owner", "archived_by"]
    inlines = [StudyRoleInline]
    actions = ["restore"]

    @admin.action(description="Restore the selected archived studies")
    def restore(self, request, queryset):
        for study in queryset.exclude(archived_at=None):
            do_restore_study(study)
        self.message_user(request, "Restored.")


@admin.register(ConceptSet)
class ConceptSetAdmin(admin.ModelAdmin):
    list_display = ["name", "size", "created"]
    search_fields = ["name"]
    readonly_fields = ["sha256"]

    @admin.display(description="concepts")
    def size(self, obj):
        return len(obj.concepts)


@admin.register(Neuron)
class NeuronAdmin(admin.ModelAdmin):
    list_display = ["study", "layer", "unit", "label", "method_score", "role"]
    list_filter = ["role", "study"]
    search_fields = ["label", "layer"]
    list_select_related = ["study"]
    raw_id_fields = ["study", "source"]


@admin.register(ProbeImage)
class ProbeImageAdmin(admin.ModelAdmin):
    list_display = ["sha256", "width", "height", "format", "size_bytes", "created"]
    search_fields = ["sha256"]


@admin.register(NeuronImage)
class NeuronImageAdmin(admin.ModelAdmin):
    list_display = ["neuron", "rank", "image", "activation", "is_distractor", "is_sampled"]
    list_filter = ["is_distractor", "is_sampled"]
    list_select_related = ["neuron", "image"]
    raw_id_fields = ["neuron", "image"]
